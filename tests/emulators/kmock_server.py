"""Runs kmock's stateful Kubernetes API emulator on 127.0.0.1 until killed.

kmock is a library (its own CLI only has `fetch`), so the Rust test harness
starts this script and reads the port from its first line of output.
Usage: python kmock_server.py PORT [NAMESPACE...]   (port 0: any free port)
Each NAMESPACE is created up front (kmock knows no namespaces otherwise).
"""
import asyncio
import sys

import kmock


async def main(port: int, namespaces: list[str]) -> None:
    async with kmock.KubernetesEmulator() as emulator:
        # Declared up front so listing before the first create answers an
        # empty list, as a real API server does, instead of kmock's 404.
        emulator.resources["batch/v1/jobs"] = kmock.ResourceInfo(namespaced=True, kind="Job")
        emulator.resources["v1/configmaps"] = kmock.ResourceInfo(namespaced=True, kind="ConfigMap")
        for ns in namespaces:
            emulator.objects[kmock.resource("", "v1", "namespaces"), None, ns] = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns},
                "status": {"phase": "Active"},
            }
        async with kmock.Server(emulator, host="127.0.0.1", port=port or None) as server:
            print(f"PORT {server.port}", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0, sys.argv[2:]))
