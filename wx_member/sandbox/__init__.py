"""A WeChat sandbox for tests, the demo and benchmarks: `Sandbox` answers like WeChat's API
over real HTTP, `Simulator` posts events to the app's webhook as WeChat does, and
`SandboxClient` steers a sandbox running in another process."""
from wx_member.sandbox.client import SandboxClient
from wx_member.sandbox.server import Sandbox
from wx_member.sandbox.simulator import SimResult, Simulator

__all__ = ["Sandbox", "SandboxClient", "SimResult", "Simulator"]
