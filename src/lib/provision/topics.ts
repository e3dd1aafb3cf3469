import type {BackendProfile} from '../config/profiles.js'
import {getScheme, deviceTopics as schemeTopics, type DeviceTopics} from '../schemes/index.js'

export type {DeviceTopics}

export interface TopicInput {
  scheme: string
  id: string
  type: string
  /** the profile's telemetry topic override ({id}, {type} placeholders) */
  topicTemplate?: string
}

/** The topics one device uses, written into its NVS: the scheme module decides them (one place). */
export function deviceTopics(input: TopicInput): DeviceTopics {
  return schemeTopics(getScheme(input.scheme), {id: input.id, type: input.type}, input.topicTemplate)
}

export function topicsForProfile(profile: BackendProfile, scheme: string, device: {id: string; type: string}): DeviceTopics {
  return deviceTopics({scheme, id: device.id, type: device.type, topicTemplate: profile.topic})
}
