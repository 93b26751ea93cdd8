/** A real three-master Redis Cluster on loopback for tests: src/main/private-redis-cluster.ts. */
export {
  cli,
  countKeysOnNode,
  type PrivateRedisCluster as TestCluster,
  type PrivateRedisClusterOptions as TestClusterOptions,
  privateRedisCluster as startTestCluster,
} from '../../src/main/private-redis-cluster.js';
