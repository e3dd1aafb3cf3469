import {describe, expect, it} from 'vitest'
import {runCli, secureFleetEnv} from '../support/cli.js'

/**
 * A started machine.WDT cannot be stopped: after Ctrl-C drops the device app to the REPL it keeps
 * running, and an upload longer than its timeout would reset the board mid-upload. `flash --files-only`
 * finds the app's watchdog (iotctl.app.wdt) and feeds it before every exec. The REPL is the real
 * interpreter's; the watchdog is a stand-in that counts feeds and notes every gap longer than its timeout.
 */
describe('flash --files-only feeds the watchdog the device app left running', () => {
  it('feeds iotctl.app.wdt throughout the upload, never letting it lapse, and reports its timeout', {timeout: 120_000}, async () => {
    const {startMicroPythonRepl, serveRepl, pasteBoard} = await import('../support/micropython-repl.js')
    const {startPtyBridge} = await import('../support/pty-bridge.js')
    const ctx = await secureFleetEnv({IOTCTL_CA_PASSPHRASE: 'watchdog e2e'}, 'CN=Watchdog CA')
    expect((await runCli(['devices', 'add', 'temp-wdt', '--type', 'temp', '--chip', 'esp32'], ctx)).code).toBe(0)

    const repl = await startMicroPythonRepl()
    // what the app leaves behind after Ctrl-C: its module, holding the running watchdog and its timeout
    repl.mp.runPython(
      [
        'import sys, time',
        'class _Wdt:',
        '    def __init__(self, ms):',
        '        self.ms, self.feeds, self.lapses, self.last = ms, 0, 0, time.ticks_ms()',
        '    def feed(self):',
        '        now = time.ticks_ms()',
        '        if time.ticks_diff(now, self.last) > self.ms:',
        '            self.lapses += 1',
        '        self.feeds, self.last = self.feeds + 1, now',
        'class _App:',
        '    pass',
        'app = _App()',
        'app.wdt, app.wdt_ms = _Wdt(20000), 20000',
        "sys.modules['iotctl.app'] = app",
        'probe = app.wdt',
      ].join('\n'),
    )
    const server = await serveRepl(repl, () => pasteBoard(repl, {increment: 128, supported: true}).link)
    const pty = await startPtyBridge(server.port)
    try {
      const result = await runCli(['flash', '--files-only', '--device', 'temp-wdt', '--port', pty.path, '--set', 'wifi.ssid=farm', '--set', 'wifi.password=pw', '--json'], ctx, {timeoutMs: 100_000})
      expect(result.code, result.stderr).toBe(0)
      const summary = result.json()
      expect(summary).toMatchObject({device: 'temp-wdt', watchdogMs: 20000, softReset: true})
      repl.mp.runPython("import json\nwith open('/wdt-probe.json', 'w') as f:\n    f.write(json.dumps({'feeds': probe.feeds, 'lapses': probe.lapses}))")
      const fed = JSON.parse(new TextDecoder().decode(repl.mp.FS.readFile('/wdt-probe.json')))
      // the shipped app is more than a dozen files: each is opened, written, checked and renamed by its own execs
      expect(fed.feeds).toBeGreaterThan(summary.files.length * 3)
      expect(fed.lapses).toBe(0)
    } finally {
      await pty.stop()
      await server.close()
    }
  })
})
