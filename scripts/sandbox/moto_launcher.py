"""moto_server for the sandbox, with one fix: Lambda never reuses a version number.

moto 5.2 numbers a new version len(versions) + 1, so after an older version is deleted (the
action's keep-versions, preview cleanup) the next publish gets a number that is still in use.
Real Lambda counts up per function forever; this launcher makes moto do the same, then runs
moto.server's own main() with the given arguments.
"""
import copy
import sys

from moto.awslambda import models


def publish_version(self, name_or_arn, description=""):
    function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
    name = function.function_name
    if name not in self._functions or not self._functions[name]["latest"]:
        return None
    all_versions = self._functions[name]["versions"]
    if all_versions:
        if not function.code_or_config_updated:
            return all_versions[-1]  # nothing changed since the last publish: Lambda returns it
        function.code_or_config_updated = False
    highest = getattr(self, "_lmd_highest", None)
    if highest is None:
        highest = self._lmd_highest = {}
    existing = max((int(v.version) for v in all_versions), default=0)
    new_version = max(existing, highest.get(name, 0)) + 1
    highest[name] = new_version
    fn = copy.copy(self._functions[name]["latest"])
    fn.set_version(new_version)
    if description:
        fn.description = description
    all_versions.append(fn)
    self._arns[fn.function_arn] = fn
    return fn


models.LambdaStorage.publish_version = publish_version

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
