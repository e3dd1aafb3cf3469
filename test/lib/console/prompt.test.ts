import {describe, expect, it} from 'vitest'
import {ExitCode, IotctlError} from '../../../src/lib/console/errors.js'
import {Prompter, promptBlocker, type PromptPolicy} from '../../../src/lib/console/prompt.js'

const terminal: PromptPolicy = {json: false, yes: false, env: {}, stdinIsTTY: true, stdoutIsTTY: true}

describe('the prompt policy', () => {
  it('prompts only on a terminal, outside CI, without --json or --yes — and says why not', () => {
    expect(promptBlocker(terminal)).toBeUndefined()
    expect(promptBlocker({...terminal, json: true})).toBe('--json was given')
    expect(promptBlocker({...terminal, yes: true})).toBe('--yes was given')
    expect(promptBlocker({...terminal, env: {CI: 'true'}})).toBe('CI is set')
    expect(promptBlocker({...terminal, env: {CI: 'false'}})).toBeUndefined()
    expect(promptBlocker({...terminal, env: {CI: '0'}})).toBeUndefined()
    expect(promptBlocker({...terminal, stdinIsTTY: false})).toBe('stdin is not a terminal')
    expect(promptBlocker({...terminal, stdoutIsTTY: false})).toBe('stdout is not a terminal')
    expect(new Prompter(terminal).interactive).toBe(true)
    expect(new Prompter({...terminal, stdinIsTTY: false}).blocker).toBe('stdin is not a terminal')
  })

  it('without a terminal, asking fails with a usage error that names the flag to pass', async () => {
    const prompter = new Prompter({...terminal, stdinIsTTY: false})
    const error = await prompter.input({message: 'Wi-Fi SSID?', flag: '--wifi-ssid'}).catch((e) => e)
    expect(error).toBeInstanceOf(IotctlError)
    expect(error).toMatchObject({code: 'INPUT_REQUIRED', exit: ExitCode.USAGE})
    expect(error.message).toBe('Wi-Fi SSID is required, and iotctl cannot ask for it because stdin is not a terminal')
    expect(error.suggestions).toEqual(['Pass --wifi-ssid'])
    await expect(prompter.password({message: 'CA passphrase:', flag: 'IOTCTL_CA_PASSPHRASE'})).rejects.toMatchObject({code: 'INPUT_REQUIRED', suggestions: ['Pass IOTCTL_CA_PASSPHRASE']})
    await expect(prompter.select({message: 'Which port?', flag: '--port', choices: [{name: 'a', value: 'a'}]})).rejects.toMatchObject({code: 'INPUT_REQUIRED'})
  })

  it('--yes answers a destructive confirmation; without it and without a terminal the confirmation fails', async () => {
    await expect(new Prompter({...terminal, yes: true, stdinIsTTY: false}).confirm('Remove 3 devices?')).resolves.toBeUndefined()
    const error = await new Prompter({...terminal, json: true}).confirm('Remove 3 devices?').catch((e) => e)
    expect(error).toMatchObject({code: 'INPUT_REQUIRED', exit: ExitCode.USAGE, suggestions: ['Pass --yes']})
    expect(error.message).toContain('Confirmation (Remove 3 devices?) is required')
  })
})
