"""Stand-ins for the channels: fake WeChat and Alipay open platforms and an SMS sink (real HTTP,
real signatures), plus scripted citizen journeys against the hub.

Imports nothing from ``bff``, ``domain`` or ``adapters``: it plays the outside world, and must
keep working whatever the hub's code looks like. See README.md.
"""
