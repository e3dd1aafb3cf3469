/**
 * ESP-IDF partition tables: lay out a template's partitions, write and read the binary
 * table (with its MD5 row), render it as gen_esp32part.py CSV.
 */
export {writePartitionTable, readPartitionTable} from './table.js'
export {
  DEFAULT_PARTITIONS,
  NAMED_PARTITION_LAYOUTS,
  partitionSpecs,
  alignmentOf,
  findAppPartition,
  findPartition,
  layoutPartitions,
  parseFlashSize,
  partitionSubtypeCode,
  partitionTypeCode,
  validatePartitions,
  type LayoutOptions,
} from './layout.js'
export {partitionTableCsv} from './csv.js'
export {
  PARTITION_TABLE_MAX,
  PARTITION_TABLE_OFFSET,
  PARTITION_TABLE_SECTOR,
  PARTITION_SUBTYPES,
  PARTITION_TYPES,
  partitionSubtypeName,
  partitionTypeName,
} from './format.js'
export {partitionTableAt, partitionBytes, partitionFits, readFlashImage, type FlashImageLayout} from './flash-image.js'
export type {PartitionEntry, PartitionTableRead} from './types.js'
