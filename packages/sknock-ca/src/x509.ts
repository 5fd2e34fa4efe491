/**
 * The one door to `@peculiar/x509`: it needs `reflect-metadata` loaded before it, which an
 * ES module can only promise by importing it first in the same module.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };
