"""`python -m wx_member.cli`: the `wx-member` command without the console script."""
from wx_member.cli import main

main()
