import { createMemoryStore } from '../../src/memory.ts';
import { runConformance } from '../conformance.ts';

runConformance('memory', () => createMemoryStore());
