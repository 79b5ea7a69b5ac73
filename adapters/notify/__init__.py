"""Channel senders of notifications: WeChat subscribe messages, Alipay template messages, app push, SMS."""
