import {mosquittoBinary} from './mosquitto.js'
import {postgresBinDir} from './postgres.js'

/** Fail fast, never skip: in CI a missing Mosquitto is an error for the whole run. */
export default function setup(): void {
  if (process.env.CI && !mosquittoBinary()) {
    throw new Error('CI is set but mosquitto is not installed; .ci/run must apt-get install it')
  }
  if (process.env.CI && !postgresBinDir()) {
    throw new Error('CI is set but PostgreSQL is not installed; .ci/run must apt-get install postgresql')
  }
}
