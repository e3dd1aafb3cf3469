export * from './client.js'
export * from '../schemes/sense-codec.js'
