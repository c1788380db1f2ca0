"""moto_server for the sandbox, with its Lambda made faithful where the action's guarantees depend
on it (moto_lambda_fidelity.py: versions, Invoke qualifiers and alias weights, RevisionId and
CodeSha256 guards, function errors, architectures; moto_lambda_urls.py: function URLs per
qualifier, invocable; moto_lambda_policies.py: resource policies per qualifier, statement ids
unique; moto_lambda_volumes.py: code and layer volumes reused between invokes;
moto_lambda_config.py: the function configuration settings moto drops; moto_lambda_image.py:
image functions' CodeSha256 and invokes from the local registry; moto_lambda_network.py:
function containers reach this moto's S3), then moto.server's own
main() with the given arguments.

SANDBOX_MOTO_UNPATCHED=1 starts moto as released, without these fixes: only to show that the
sandbox self-tests (test/e2e/sandbox-fidelity.test.ts) fail without them. Never set it in CI.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    if os.environ.get("SANDBOX_MOTO_UNPATCHED") != "1":
        import moto_lambda_config
        import moto_lambda_fidelity
        import moto_lambda_image
        import moto_lambda_policies
        import moto_lambda_network
        import moto_lambda_urls
        import moto_lambda_volumes

        moto_lambda_fidelity.apply()
        moto_lambda_urls.apply()
        moto_lambda_policies.apply()
        moto_lambda_volumes.apply()
        moto_lambda_config.apply()
        moto_lambda_image.apply()
        moto_lambda_network.apply()
    from moto.server import main

    main(sys.argv[1:])
