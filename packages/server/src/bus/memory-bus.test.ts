import { runBusSuite } from '@pulse/server/bus-suite'
import { createMemoryBus } from './memory-bus.ts'

runBusSuite('memory', async (count, onError) => {
  const bus = createMemoryBus({ onError })
  return Array.from({ length: count }, () => bus)
})
