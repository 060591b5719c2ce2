"""wx-member: a WeChat membership and loyalty programme backend."""
__version__ = "0.1.0"
