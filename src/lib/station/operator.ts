import {userInfo} from 'node:os'

/** Who is at the station when --operator is not given: the login name. */
export function loginName(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'unknown'
  }
}
