import {mkdir, open, readdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {conflict, explainSystemError} from '../console/errors.js'
import {writeFileAtomic} from '../workspace/atomic.js'
import {processAlive} from '../workspace/lock.js'

const BATCH_FILE = /^(\d{13}-\d+-\d{6})\.json$/
const OWNER_FILE = '.owner'
const DEAD_DIR = 'dead'

export interface DeadLetterInfo {
  status?: number
  body?: string
  error?: string
}

/** A folder-safe name for a spool: MAC colons become dashes. */
export function spoolFolderName(gatewayName: string): string {
  return gatewayName.replaceAll(/[^A-Za-z0-9._-]/g, '-')
}

/**
 * The gateway's durable queue: one file per batch, written atomically (fsync + rename) before the
 * batch is sent and removed only after the server accepted it. File names sort in creation
 * order. A batch the server refused (4xx) moves to `dead/` with the reason beside it.
 * One process owns a spool at a time (a pid file), so two gateways never send the same batch.
 */
export class Spool {
  private sequence = 0
  private dirSync?: Promise<void>
  private nextDirSync?: Promise<void>

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<Spool> {
    const spool = new Spool(dir)
    await mkdir(join(dir, DEAD_DIR), {recursive: true})
    await spool.takeOwnership()
    return spool
  }

  get deadDir(): string {
    return join(this.dir, DEAD_DIR)
  }

  private async takeOwnership(): Promise<void> {
    const file = join(this.dir, OWNER_FILE)
    for (let tries = 0; tries < 2; tries++) {
      try {
        const handle = await open(file, 'wx', 0o644)
        await handle.writeFile(String(process.pid))
        await handle.close()
        return
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw explainSystemError(error, `locking the spool ${this.dir}`)
        const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
        if (Number.isFinite(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
          throw conflict('SPOOL_BUSY', `Another gateway (pid ${pid}) is using the spool ${this.dir}`, ['Stop it first, or give this gateway another --name'])
        }
        await rm(file, {force: true}) // left by a gateway that died
      }
    }
  }

  /** Write a batch body durably; resolves with its id once it is on disk. */
  async put(body: string): Promise<string> {
    const id = `${String(Date.now()).padStart(13, '0')}-${process.pid}-${String(this.sequence++ % 1_000_000).padStart(6, '0')}`
    await writeFileAtomic(join(this.dir, `${id}.json`), body)
    await this.syncDirectory()
    return id
  }

  /**
   * fsync the spool folder, so that a rename into it survives a power cut as well as a crash.
   * Batches written at the same time share one sync: a caller that arrives while one runs (which
   * may predate its rename) waits for the next.
   */
  private syncDirectory(): Promise<void> {
    if (!this.dirSync) {
      this.dirSync = fsyncDirectory(this.dir).finally(() => (this.dirSync = undefined))
      return this.dirSync
    }
    this.nextDirSync ??= this.dirSync.catch(() => {}).then(() => {
      this.nextDirSync = undefined
      return this.syncDirectory()
    })
    return this.nextDirSync
  }

  /** Ids of the batches waiting, oldest first. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir)
    return names
      .map((name) => BATCH_FILE.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .sort()
  }

  read(id: string): Promise<string> {
    return readFile(join(this.dir, `${id}.json`), 'utf8')
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), {force: true})
  }

  /** Move a refused batch aside, with why, so it is neither retried nor lost. */
  async deadLetter(id: string, info: DeadLetterInfo): Promise<string> {
    const target = join(this.deadDir, `${id}.json`)
    await writeFileAtomic(join(this.deadDir, `${id}.reason.json`), JSON.stringify({...info, at: new Date().toISOString()}, null, 2) + '\n')
    await rename(join(this.dir, `${id}.json`), target)
    return target
  }

  /** Ids in dead/ (refused batches), oldest first. */
  async deadLetters(): Promise<string[]> {
    const names = await readdir(this.deadDir).catch(() => [] as string[])
    return names
      .map((name) => BATCH_FILE.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .sort()
  }

  async release(): Promise<void> {
    const file = join(this.dir, OWNER_FILE)
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
    if (pid === process.pid) await rm(file, {force: true})
  }

  async bytes(): Promise<number> {
    let total = 0
    for (const id of await this.list()) total += (await stat(join(this.dir, `${id}.json`)).catch(() => ({size: 0}))).size
    return total
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
