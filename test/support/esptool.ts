import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

const run = promisify(execFile)

/**
 * Espressif's own tools as oracles (esptool, esp-idf-nvs-partition-gen from PyPI, run with python3 -m).
 * A missing tool fails the test that needs it (never a skip): .ci/run installs them.
 */
export async function python(module: string, args: string[], options: {timeoutMs?: number} = {}): Promise<{stdout: string; stderr: string}> {
  try {
    return await run('python3', ['-m', module, ...args], {timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024})
  } catch (error) {
    const e = error as {stdout?: string; stderr?: string; message: string}
    if (/No module named/.test(e.stderr ?? '')) throw new Error(`python3 -m ${module} is not installed: pip install esptool esp-idf-nvs-partition-gen (.ci/run does this)`)
    throw new Error(`python3 -m ${module} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
}

export const esptool = (args: string[], options?: {timeoutMs?: number}) => python('esptool', args, options)

const scratch = () => mkdtempSync(join(tmpdir(), 'iotctl-oracle-'))

/** `esptool image-info` of an image (bytes or a file): its full report. */
export async function imageInfo(image: Uint8Array | string, chip?: string): Promise<string> {
  const file = typeof image === 'string' ? image : join(scratch(), 'image.bin')
  if (typeof image !== 'string') writeFileSync(file, image)
  return (await esptool([...(chip ? ['--chip', chip] : []), 'image-info', file])).stdout
}

/** `esptool merge-bin` of the same parts, as bytes. */
export async function esptoolMergeBin(chip: string, parts: Array<{offset: number; data: Uint8Array}>, extra: string[] = []): Promise<Uint8Array> {
  const dir = scratch()
  const args = ['--chip', chip, 'merge-bin', '-o', join(dir, 'merged.bin'), ...extra]
  parts.forEach((p, i) => {
    const file = join(dir, `part${i}.bin`)
    writeFileSync(file, p.data)
    args.push(`0x${p.offset.toString(16)}`, file)
  })
  await esptool(args)
  return new Uint8Array(readFileSync(join(dir, 'merged.bin')))
}

/** esp-idf-nvs-partition-gen's image for a CSV (key,type,encoding,value). */
export async function nvsPartitionGen(csv: string, size: number): Promise<Uint8Array> {
  const dir = scratch()
  writeFileSync(join(dir, 'nvs.csv'), csv)
  await python('esp_idf_nvs_partition_gen', ['generate', join(dir, 'nvs.csv'), join(dir, 'nvs.bin'), `0x${size.toString(16)}`])
  return new Uint8Array(readFileSync(join(dir, 'nvs.bin')))
}
