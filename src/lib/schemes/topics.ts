/**
 * Topic templates: "iotctl/{type}/{id}/telemetry". Devices fill them; tail turns them into
 * subscription filters (a placeholder segment becomes '+') and into matchers that read the id
 * and type back out of a received topic.
 */

export type TopicValues = {id?: string; type?: string}

export function fillTopic(template: string, values: {id: string; type: string}): string {
  return template.replaceAll('{id}', values.id).replaceAll('{type}', values.type)
}

/** A subscription filter: known placeholders filled, the rest (whole segments) become '+'. */
export function topicFilter(template: string, values: TopicValues = {}): string {
  return template
    .split('/')
    .map((segment) => {
      const filled = segment.replaceAll('{id}', values.id ?? '\0').replaceAll('{type}', values.type ?? '\0')
      return filled.includes('\0') ? '+' : filled
    })
    .join('/')
}

const escapeRegex = (text: string) => text.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')

export interface TopicMatcher {
  template: string
  match(topic: string): TopicValues | undefined
}

/** Reads {id} and {type} back out of a topic built from `template`. */
export function topicMatcher(template: string): TopicMatcher {
  const names: ('id' | 'type')[] = []
  const pattern = template
    .split(/(\{id\}|\{type\})/)
    .map((part) => {
      if (part === '{id}' || part === '{type}') {
        names.push(part === '{id}' ? 'id' : 'type')
        return '([^/]+)'
      }
      return escapeRegex(part)
    })
    .join('')
  const regex = new RegExp(`^${pattern}$`)
  return {
    template,
    match(topic) {
      const m = regex.exec(topic)
      if (!m) return undefined
      const values: TopicValues = {}
      names.forEach((name, i) => (values[name] = m[i + 1]))
      return values
    },
  }
}

/** MQTT filter matching ('+' one level, '#' the rest), for --topic filters on received topics. */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  if (filter === '#') return !topic.startsWith('$')
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}
