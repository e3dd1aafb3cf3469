#!/usr/bin/env node
// `iotctl --version` is answered without loading oclif: it is the most frequent cold start in scripts.
const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const {readFileSync} = await import('node:fs')
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`iotctl/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  // package.json's engines: say so plainly instead of failing later in an odd place
  const [major, minor] = process.versions.node.split('.').map(Number)
  if (major < 20 || (major === 20 && minor < 19)) process.stderr.write(`iotctl needs Node.js >= 20.19; this is ${process.version}\n`)
  // `iotctl tail --json | head -1`: a closed pipe ends the command quietly
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
  // `iotctl help [COMMAND…]` is `iotctl [COMMAND…] --help`: oclif's own help, without loading
  // @oclif/plugin-help (~20 ms on every command) for one alias
  const args = argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv
  const {execute} = await import('@oclif/core/execute')
  await execute({dir: import.meta.url, args})
  // A command has finished: do not wait for stray handles (sockets, timers) to close by themselves.
  await new Promise((resolve) => process.stdout.write('', resolve))
  process.exit()
}
