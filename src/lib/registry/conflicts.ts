import {conflict, notFound} from '../console/errors.js'
import {normalizeMac} from './ids.js'

/** The MAC a device answers to: its mac field, or its id when the id is a MAC. */
export const macOf = (device: {id: string; mac?: string}): string | undefined => device.mac ?? normalizeMac(device.id)

/** Ids are compared case-insensitively: they become folder names and MQTT client ids. */
export const idKey = (id: string): string => id.toLowerCase()

export function deviceExists(existing: string, wanted: string) {
  const sameCase = existing === wanted
  return conflict(
    'DEVICE_EXISTS',
    sameCase ? `A device "${wanted}" is already registered` : `A device "${existing}" is already registered (ids are case-insensitive: "${wanted}" is the same id)`,
    [`Inspect it: iotctl devices show ${existing}`, `Remove it first: iotctl devices remove ${existing}`],
  )
}

export function macInUse(mac: string, owner: string) {
  return conflict('MAC_IN_USE', `MAC ${mac} already belongs to device "${owner}"`, [`Inspect it: iotctl devices show ${owner}`, `Remove it first: iotctl devices remove ${owner}`])
}

export function deviceNotFound(id: string, where?: string) {
  return notFound('DEVICE_NOT_FOUND', `No device "${id}" in the registry${where ? ` (${where})` : ''}`, ['List devices: iotctl devices list', `Register it: iotctl devices add ${id} --type <type>`])
}
