/**
 * The device runtime: one virtual device (identity, value models, sequence numbers, command
 * handling) and `startDevice`, which runs one from its provisioned configuration — the virtual
 * board's entry point. `simulate` runs thousands through src/lib/device/fleet.ts.
 *
 *   const device = await startDevice({config, template, onEvent: (e) => console(e)})
 *   …
 *   const summary = await device.stop()
 */
export {startDevice, type ProvisionedDevice, type RunningDevice, type StartDeviceOptions} from './run.js'
export {VirtualDevice, type VirtualDeviceInit} from './virtual-device.js'
export {compileTypeModel, roundForField, type TypeModel} from './models.js'
export {Rng} from './prng.js'
export {commandNames, runCommand, uptimeText} from './commands.js'
