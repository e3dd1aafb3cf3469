# iotctl device app for MicroPython (ESP32, ESP8266). Written for iotctl; see runtime/micropython/README.md.
VERSION = "1.0.0"
