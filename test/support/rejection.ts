import {expect} from 'vitest'
import {IotctlError} from '../../src/lib/console/errors.js'

/** The IotctlError a promise (or a call, sync or async) ends with; fails the test if it resolves or throws anything else. */
export async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<IotctlError> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    expect(error).toBeInstanceOf(IotctlError)
    return error as IotctlError
  }
  throw new Error('expected a rejection')
}
