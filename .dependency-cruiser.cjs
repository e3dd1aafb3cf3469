/**
 * The import graph's rules (npm run lint:deps, run by npm test): no cycles, src/lib never imports oclif or
 * the commands, and the layers of src/lib in the order below — a folder imports only folders listed
 * before it, so no import runs back up. README "Design notes → The shape of src/lib" draws the same map.
 */
const LAYERS = [
  // foundations
  'console', // errors + exit codes, output, tables, progress, prompt policy
  'esp', // chip catalogue and ROM constants
  'workspace',
  'config',
  // what the fleet is
  'registry',
  'templates',
  // binary formats: pure functions over bytes
  'nvs',
  'partitions',
  'fs',
  'image',
  'pki',
  // the device contract: topics and payloads
  'schemes',
  // a device's flash plan
  'provision',
  // protocol clients, then the Transport interface and its adapters
  'mqtt',
  'http',
  'coap',
  'transport',
  // the TypeScript device runtime, then the tools that watch and drive traffic
  'device',
  'micropython', // the MicroPython device app in the real interpreter (the virtual board runs it)
  'telemetry',
  // OTA: releases, the download server, rollouts (drive devices through telemetry's validator)
  'ota',
  // boards: serial lines, flashing, the virtual board (which runs the device runtime)
  'serial',
  'flash',
  'emulator',
  // the production line: recipes, a flash + boot check per board, traveler records
  'station',
  // services built on the rest
  'gateway',
  'backends',
  'broker',
]

const folder = (names) => `^src/lib/(${names.join('|')})/`

const layerRules = LAYERS.slice(0, -1).map((name, i) => ({
  name: `layer-${name}`,
  comment: `src/lib/${name} sits below ${LAYERS.slice(i + 1).join(', ')}: an import from it to them runs back up`,
  severity: 'error',
  from: {path: folder([name])},
  to: {path: folder(LAYERS.slice(i + 1))},
}))

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no two files import each other, directly or around a circle',
      severity: 'error',
      from: {},
      to: {circular: true},
    },
    {
      name: 'lib-not-oclif',
      comment: 'src/lib never imports oclif: commands parse flags, lib takes plain options',
      severity: 'error',
      from: {path: '^src/lib/'},
      to: {path: '(^|/)node_modules/@oclif/'},
    },
    {
      name: 'lib-not-commands',
      comment: 'src/lib never imports the oclif base command, the commands or the hooks',
      severity: 'error',
      from: {path: '^src/lib/'},
      to: {path: '^src/(cli|commands|hooks)/'},
    },
    {
      name: 'base-command-not-commands',
      comment: 'the base command and flag builders serve the commands, never the reverse',
      severity: 'error',
      from: {path: '^src/cli/'},
      to: {path: '^src/(commands|hooks)/'},
    },
    {
      name: 'commands-not-commands',
      comment: 'a command shares code through src/lib or src/cli, not by importing another command',
      severity: 'error',
      from: {path: '^src/commands/'},
      to: {path: '^src/commands/'},
    },
    {
      name: 'lib-folder-in-layer-map',
      comment: 'every src/lib folder gets a place in LAYERS above (a warning, so a new folder can land first)',
      severity: 'warn',
      from: {path: '^src/lib/', pathNot: `${folder(LAYERS)}|^src/lib/[^/]+$`},
      to: {},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    exclude: {path: '^(dist|test|bench|templates)/'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types']},
  },
}
