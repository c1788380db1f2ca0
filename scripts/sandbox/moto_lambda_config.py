"""moto 5.2 Lambda made to keep the function configuration the action sets.

moto stores TracingConfig, EphemeralStorage and VpcConfig from CreateFunction only, and drops
LoggingConfig, DeadLetterConfig, KMSKeyArn and FileSystemConfigs everywhere. Its
UpdateFunctionConfiguration applies only Description, Handler, MemorySize, Role, Runtime, Timeout,
VpcConfig, Environment and Layers. Lambda stores and reports all of them, per version; so does
this patch (a version published afterwards copies the attributes, as it copies the others). A
function with no LoggingConfig reports Lambda's default: Text logs in /aws/lambda/<name>.
"""
from typing import Any

from moto.awslambda import models

# Configuration key -> attribute on moto's LambdaFunction.
EXTRA_KEYS = {
    "LoggingConfig": "lmd_logging_config",
    "DeadLetterConfig": "lmd_dead_letter_config",
    "KMSKeyArn": "lmd_kms_key_arn",
    "FileSystemConfigs": "lmd_file_system_configs",
}


def apply() -> None:
    original_init = models.LambdaFunction.__init__
    original_get_configuration = models.LambdaFunction.get_configuration
    original_update_configuration = models.LambdaFunction.update_configuration

    def function_init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        for key, attribute in EXTRA_KEYS.items():
            setattr(self, attribute, spec.get(key))

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original_get_configuration(self, on_create)
        logging = getattr(self, "lmd_logging_config", None) or {}
        config["LoggingConfig"] = {
            "LogFormat": "Text",
            "LogGroup": f"/aws/lambda/{self.function_name}",
            **logging,
        }
        for key, attribute in EXTRA_KEYS.items():
            value = getattr(self, attribute, None)
            if key != "LoggingConfig" and value:
                config[key] = value
        return config

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        for key, attribute in EXTRA_KEYS.items():
            if key in config_updates:
                setattr(self, attribute, config_updates[key])
        if "TracingConfig" in config_updates:
            self.tracing_config = config_updates["TracingConfig"]
        if "EphemeralStorage" in config_updates:
            self.ephemeral_storage = config_updates["EphemeralStorage"]["Size"]
        return original_update_configuration(self, config_updates)

    models.LambdaFunction.__init__ = function_init
    models.LambdaFunction.get_configuration = get_configuration
    models.LambdaFunction.update_configuration = update_configuration
