/**
 * ESP firmware images: parse and check (magic, chip, checksum, SHA-256, app descriptor),
 * patch flash settings, build simulation images, merge parts into one flash image.
 */
export {parseEspImage, hasExtendedHeader} from './parse.js'
export {patchImageHeader, type FlashSettings} from './patch.js'
export {
  SIMULATION_PROJECT_NAME,
  SIMULATION_BOOTLOADER_NAME,
  buildSimulationBootloader,
  isSimulationBootloader,
  buildSimulationImage,
  isSimulationImage,
  simulationTemplateType,
  simulationAppVersion,
  simulationFault,
  DEFAULT_APP_VERSION,
  SIMULATION_FAULTS,
  type SimulationFault,
  type SimulationImageOptions,
} from './simulation.js'
export {mergeImages, type FlashPart, type MergeOptions} from './merge.js'
export {parseAppDescriptor, encodeAppDescriptor, type AppDescriptorInput} from './app-desc.js'
export {segmentChecksum, checksumOffset} from './checks.js'
export {CHIP_IDS, CHIP_NAMES, FLASH_MODES, FLASH_MAPPED_RANGES, chipIdName, flashCodes, type FlashMode} from './format.js'
export type {ImageErrorCode} from './errors.js'
export type {EspAppDescriptor, EspExtendedHeader, EspImageInfo, EspImageProblem, EspImageSegment, ParseImageOptions} from './types.js'
export {imageKind, parseBootloaderDescriptor, encodeBootloaderDescriptor, type BootloaderDescriptor, type ImageKind} from './kind.js'
