import {describe, expect, it} from 'vitest'
import {runDevice} from '../../support/micropython-device.js'

const files = (main: string) => new Map([['/main.py', Buffer.from(main)]])

describe('startMicroPythonDevice: the real interpreter in a worker, with the board stood in', () => {
  it('sleeps without spinning a core, and boots boot.py before main.py', async () => {
    const main = 'import time\nt = time.ticks_ms()\ntime.sleep(1.5)\nprint("slept", time.ticks_diff(time.ticks_ms(), t))\n'
    const board = new Map([...files(main), ['/boot.py', Buffer.from('print("boot first")\n')]])
    const cpu = process.cpuUsage()
    const {device, uart} = runDevice(board)
    const line = await uart.waitFor(/^slept /)
    const used = process.cpuUsage(cpu)
    await device.done
    expect(uart.all.indexOf('boot first')).toBeLessThan(uart.all.indexOf(line))
    expect(Number(line.split(' ')[1])).toBeGreaterThanOrEqual(1500)
    // starting the interpreter costs CPU; 1.5 s of sleeping must add next to nothing
    expect((used.user + used.system) / 1000).toBeLessThan(1400)
  })

  it('resets the board when the watchdog is not fed, and boots again from the same filesystem', async () => {
    const main = [
      'import machine, os, time',
      'n = int(open("/count").read()) if "count" in os.listdir("/") else 0',
      'with open("/count", "w") as f:',
      '    f.write(str(n + 1))',
      'print("boot", n + 1, "cause", machine.reset_cause())',
      'if n == 0:',
      '    w = machine.WDT(timeout=300)',
      '    while True:',
      '        time.sleep_ms(50)',
      'elif n == 1:',
      '    machine.reset()',
      'print("done")',
    ].join('\n')
    const events: string[] = []
    const {device, uart} = runDevice(files(main), {onEvent: (e) => events.push(e.event === 'reset' ? `reset:${e.reason}` : e.event === 'boot' ? `boot:${e.cause}` : e.event)})
    await uart.waitFor(/^done$/, 30_000)
    await device.done
    expect(uart.all.filter((l) => l.startsWith('boot '))).toEqual(['boot 1 cause 1', 'boot 2 cause 3', 'boot 3 cause 5'])
    expect(events).toEqual(['boot:power-on', 'reset:watchdog', 'boot:watchdog', 'reset:machine.reset', 'boot:reset', 'exit'])
    expect(Buffer.from(device.files().get('/count')!).toString()).toBe('3')
  })

  it('reports a Python exception that ends main.py, as the REPL would print it', async () => {
    const {device, uart} = runDevice(files('def f():\n    raise ValueError("broken config")\nf()\n'))
    const result = await device.done
    expect(result.error).toMatch(/ValueError/)
    expect(uart.all.join('\n')).toMatch(/ValueError: broken config/)
  })
})
