import type {Pool, PoolClient} from 'pg'
import {connectionSettings, describeTarget, type ConnectionSettings, type PostgresTarget} from './target.js'

export interface PoolOptions {
  env?: NodeJS.ProcessEnv
  password?: string
  max: number
  applicationName: string
  connectTimeoutMs?: number
}

/** pooled clients that already have an error listener (a client is handed out many times) */
const watched = new WeakSet<PoolClient>()

/**
 * A connection pool on the registry's database with libpq's TLS behaviour: for sslmode=prefer (the
 * default) TLS first and plain when the server has no TLS; for allow plain first and TLS when the server
 * wants it. The first answer decides for the rest of the process.
 */
export class RegistryPool {
  private pool: Pool
  private fallback: ConnectionSettings['fallback']

  private constructor(
    private readonly makePool: (ssl: ConnectionSettings['ssl']) => Pool,
    readonly settings: ConnectionSettings,
    readonly target: PostgresTarget,
  ) {
    this.pool = makePool(settings.ssl)
    this.fallback = settings.fallback
  }

  static async open(url: string, options: PoolOptions): Promise<RegistryPool> {
    const env = options.env ?? process.env
    const settings = connectionSettings(url, env, options.password)
    const {default: pg} = await import('pg')
    const makePool = (ssl: ConnectionSettings['ssl']) => {
      const pool = new pg.Pool({
        connectionString: settings.connectionString,
        ssl,
        max: options.max,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
        // a command ends when its work does, with no pool.end() needed
        allowExitOnIdle: true,
        application_name: options.applicationName,
      })
      // an idle client whose server went away must not crash the process
      pool.on('error', () => {})
      return pool
    }
    return new RegistryPool(makePool, settings, describeTarget(url, env))
  }

  async connect(): Promise<PoolClient> {
    let client: PoolClient
    try {
      client = await this.pool.connect()
      this.fallback = undefined
    } catch (error) {
      if (this.fallback === undefined || !turnedDown(error, this.settings.ssl !== false)) throw error
      const old = this.pool
      this.pool = this.makePool(this.fallback)
      this.fallback = undefined
      old.end().catch(() => {})
      client = await this.pool.connect()
    }
    if (!watched.has(client)) {
      watched.add(client)
      client.on('error', () => {}) // a backend killed mid-query: reported by the query that was running
    }
    return client
  }

  end(): Promise<void> {
    return this.pool.end()
  }
}

/** The server turned the first attempt down for its TLS choice: it has no TLS, or it wants TLS (pg_hba "no encryption"). */
function turnedDown(error: unknown, triedTls: boolean): boolean {
  const message = (error as Error)?.message ?? ''
  return triedTls ? /does not support SSL/i.test(message) : /no encryption/i.test(message)
}
