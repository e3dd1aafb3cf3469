import {readFile} from 'node:fs/promises'

import {ExitCode, IotctlError} from '../console/errors.js'
import type {BoardInfo} from '../flash/types.js'
import type {FlashPlan} from '../provision/plan-types.js'
import {sha256Hex} from '../templates/hash.js'
import type {StationRecipe} from './recipe.js'

/** The board must be the recipe's chip with at least its flash. */
export function checkBoard(recipe: StationRecipe, info: BoardInfo, port: string): void {
  const chip = recipe.chip === 'sim' ? info.chip : recipe.chip
  if (info.chip !== chip) {
    throw new IotctlError(`the board on ${port} is an ${info.chip}; station ${recipe.name} flashes ${chip}`, {code: 'WRONG_CHIP', exit: ExitCode.DEVICE})
  }
  if (info.flashSize !== undefined && info.flashSize < recipe.minFlashSize) {
    throw new IotctlError(`the board on ${port} has ${mb(info.flashSize)} of flash; station ${recipe.name} needs ${mb(recipe.minFlashSize)}`, {code: 'FLASH_TOO_SMALL', exit: ExitCode.DEVICE})
  }
}

/** The parts every board shares must be byte for byte the approved ones. */
export function checkPlan(recipe: StationRecipe, plan: FlashPlan, port: string): void {
  for (const part of plan.manifest.parts) {
    // the NVS partition is each board's own (identity, certificate); everything else is shared
    if (part.name === 'nvs') continue
    const approved = recipe.images.shared[part.name]
    if (approved !== part.sha256) {
      throw new IotctlError(`the ${part.name} image for the board on ${port} is not the one approved by station ${recipe.name} (sha256 ${part.sha256.slice(0, 16)}…, approved ${(approved ?? 'none').slice(0, 16)}…)`, {
        code: 'IMAGE_CHANGED',
        exit: ExitCode.VERIFY,
      })
    }
  }
  const missing = Object.keys(recipe.images.shared).filter((name) => !plan.manifest.parts.some((p) => p.name === name))
  if (missing.length > 0) {
    throw new IotctlError(`the plan for the board on ${port} lacks ${missing.join(', ')}, which station ${recipe.name} writes to every board`, {code: 'IMAGE_CHANGED', exit: ExitCode.VERIFY})
  }
}

/** Files named by the recipe still hold the approved bytes (checked for every board: files change mid-shift). */
export async function checkSourceFiles(recipe: StationRecipe): Promise<void> {
  const files: [string, string | undefined, string][] = [
    ['app image', recipe.images.app.file, recipe.images.app.fileSha256 ?? ''],
    ['bootloader', recipe.images.bootloader?.file, recipe.images.bootloader?.fileSha256 ?? ''],
  ]
  for (const [what, file, sha256] of files) {
    if (!file) continue
    const now = await readFile(file).then(sha256Hex, () => 'unreadable')
    if (now !== sha256) {
      throw new IotctlError(`the ${what} ${file} changed since station ${recipe.name} was set up (sha256 ${now.slice(0, 16)}…, approved ${sha256.slice(0, 16)}…)`, {
        code: 'IMAGE_CHANGED',
        exit: ExitCode.VERIFY,
      })
    }
  }
}

const mb = (bytes: number) => `${bytes / 1024 / 1024} MB`
