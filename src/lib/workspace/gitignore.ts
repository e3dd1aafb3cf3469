import {join} from 'node:path'
import {writeFileAtomic} from './atomic.js'
import {readOptional} from './read.js'

const MARKER = '# iotctl: private keys, secrets and spools stay out of git'

/**
 * What a workspace must never commit: device and CA private keys, built flash plans (their NVS
 * holds device keys and Wi-Fi passwords), the gateway spool, virtual boards' flash and caches.
 * The manifest, the registry, certificates, the CRL and templates are meant to be shared.
 */
export const GITIGNORE_LINES = [
  MARKER,
  '*.key.pem',
  'key.pem',
  '*.p12',
  'secrets.json',
  '.env',
  'builds/',
  'spool/',
  'boards/',
  '.cache/',
  '*.lock',
  '.*.tmp',
]

/** Write the workspace .gitignore, or add iotctl's block to an existing one (once). */
export async function ensureGitignore(root: string): Promise<void> {
  const file = join(root, '.gitignore')
  const current = (await readOptional(file)) ?? ''
  if (current.includes(MARKER)) return
  const separator = current === '' || current.endsWith('\n') ? '' : '\n'
  await writeFileAtomic(file, current + separator + (current ? '\n' : '') + GITIGNORE_LINES.join('\n') + '\n')
}
