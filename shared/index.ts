export * from './errors.js';
export * from './events.js';
export * from './roles.js';
export * from './schemas.js';
export * from './wire.js';
