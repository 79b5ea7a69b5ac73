"""Health passes recognised across regions (健康码互通互认), credentials in the EU DCC hcert format."""
