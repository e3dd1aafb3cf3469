/**
 * The MicroPython device app on the host: the real interpreter (WebAssembly) in a worker thread,
 * with real sockets and TLS bridged from Node and stand-ins for the radio, pins and sensors.
 *
 *   const device = startMicroPythonDevice({files, onUart: (line) => console.log(line)})
 */
export {ESP8266_RAM, startMicroPythonDevice, type MicroPythonDevice, type MicroPythonDeviceEvent, type MicroPythonDeviceOptions, type SensorName, type BoardFlash} from './device.js'
export {deviceAppFiles, PRECOMPILED_DIR} from './app-files.js'
export type {RamBudget} from './protocol.js'
