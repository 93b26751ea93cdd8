/** A real three-master Redis Cluster on loopback for tests: test/helpers/private-redis-cluster.ts. */
export {
  cli,
  countKeysOnNode,
  type PrivateRedisCluster as TestCluster,
  type PrivateRedisClusterOptions as TestClusterOptions,
  privateRedisCluster as startTestCluster,
} from './private-redis-cluster.js';
