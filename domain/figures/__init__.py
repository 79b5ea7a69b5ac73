"""The platform's figures (平台运行数据): rollups per hour and per Beijing day, kept by a scheduled job."""
