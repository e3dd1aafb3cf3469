/**
 * The device filesystem image MicroPython mounts at "/": FAT with 4096-byte sectors, written
 * and read as pure functions over bytes (build, inspect and the virtual board share them).
 */
export {writeFatImage} from './fat-write.js'
export {readFatImage, fatInfo} from './fat-read.js'
