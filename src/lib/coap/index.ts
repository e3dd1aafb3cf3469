export * from './client.js'
