import {usageError} from '../console/errors.js'

/** Shares (0–1) of jobs that meet each fault in a rehearsal (`simulate --ota-faults`). */
export interface OtaFaults {
  /** the connection drops mid-download once; the device resumes with a Range request */
  download: number
  /** the downloaded bytes are corrupted: the SHA-256 check refuses them */
  'bad-image': number
  /** the new image crashes at boot: the device reverts to the previous one and reports rolled-back */
  'boot-loop': number
  /** the device never takes the job (out of reach): the gate times out on it */
  offline: number
}

export const NO_FAULTS: OtaFaults = {download: 0, 'bad-image': 0, 'boot-loop': 0, offline: 0}

/** "download:5%,bad-image:1%,boot-loop:2%,offline:3%" → shares. */
export function parseOtaFaults(text: string | undefined): OtaFaults {
  const faults = {...NO_FAULTS}
  if (!text) return faults
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z-]+):(\d+(?:\.\d+)?)(%?)$/.exec(part)
    if (!m || !(m[1] in faults)) throw usageError(`Invalid --ota-faults entry "${part}"`, [`Use NAME:SHARE with NAME one of ${Object.keys(NO_FAULTS).join(', ')}, e.g. download:5%,boot-loop:2%`])
    const share = m[3] ? Number(m[2]) / 100 : Number(m[2])
    if (share < 0 || share > 1) throw usageError(`--ota-faults ${m[1]} must be between 0% and 100%`)
    faults[m[1] as keyof OtaFaults] = share
  }
  return faults
}
