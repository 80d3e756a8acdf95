import { createMemoryStore } from '../../src/backends/memory.ts';
import { runConformance } from '../conformance.ts';

runConformance('memory', () => createMemoryStore());
