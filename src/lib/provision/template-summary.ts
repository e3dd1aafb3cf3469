import type {LoadedTemplate} from '../templates/loader.js'
import type {AppSource, FieldModel, PartitionSpec, SettingSpec} from '../templates/types.js'
import {isAppSource} from '../templates/validate.js'
import {partitionSpecs} from '../partitions/index.js'
import {DEFAULT_FLASH_SIZE} from './chips.js'
import {nvsNamespace, templateNvsKeys} from './nvs-keys.js'

/** Everything `firmware show` reports about a template, as plain JSON (no handlers). */
export interface TemplateSummary {
  type: string
  name: string
  description: string
  version?: string
  chips: string[]
  file: string
  builtin: boolean
  intervalSeconds: number
  fields: {name: string; type: string; unit?: string; min?: number; max?: number; precision?: number; description?: string; model: FieldModel}[]
  settings: ({name: string} & Omit<SettingSpec, 'default'> & {default?: string | number | boolean})[]
  commands: {name: string; description: string}[]
  partitions: readonly PartitionSpec[]
  partitionsDefault: boolean
  /** the named layout the template chose ('factory-ota', …) */
  partitionsLayout?: string
  flashSize: string
  nvs: {namespace: string; size?: number; keys: ReturnType<typeof templateNvsKeys>}
  app: {chip: string; source: string}[]
}

export function describeAppSource(source: AppSource | undefined): string {
  if (!source) return 'none (pass --app FILE)'
  if ('simulation' in source) return 'simulation image (virtual board only)'
  if ('path' in source) return `file ${source.path}`
  if ('url' in source) return `download ${source.url} (sha256 ${source.sha256.slice(0, 12)}…)`
  return `build: ${[source.build.command, ...(source.build.args ?? [])].join(' ')} → ${source.build.output}`
}

export function summarizeTemplate(template: LoadedTemplate): TemplateSummary {
  let app: TemplateSummary['app']
  if (template.app === undefined) app = [{chip: '*', source: template.chips.every((c) => c === 'sim') ? describeAppSource({simulation: true}) : describeAppSource(undefined)}]
  else if (isAppSource(template.app)) app = [{chip: '*', source: describeAppSource(template.app)}]
  else app = Object.entries(template.app).map(([chip, source]) => ({chip, source: describeAppSource(source)}))
  return {
    type: template.type,
    name: template.name,
    description: template.description,
    version: template.version,
    chips: [...template.chips],
    file: template.file,
    builtin: template.builtin,
    intervalSeconds: template.telemetry.intervalSeconds,
    fields: Object.entries(template.telemetry.fields).map(([name, f]) => ({name, type: f.type, unit: f.unit, min: f.min, max: f.max, precision: f.precision, description: f.description, model: f.model})),
    settings: Object.entries(template.settings ?? {}).map(([name, spec]) => ({name, ...spec})),
    commands: Object.entries(template.commands ?? {}).map(([name, spec]) => ({name, description: spec.description})),
    partitions: partitionSpecs(template.partitions),
    partitionsDefault: template.partitions === undefined,
    ...(typeof template.partitions === 'string' ? {partitionsLayout: template.partitions} : {}),
    flashSize: template.flashSize ?? DEFAULT_FLASH_SIZE,
    nvs: {namespace: nvsNamespace(template), size: template.nvs?.size, keys: templateNvsKeys(template)},
    app,
  }
}
