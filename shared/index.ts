export * from './errors.js';
export * from './roles.js';
export * from './schemas.js';
export * from './wire.js';
export * from './events.js';
