/** A real three-master Redis Cluster on loopback for tests: src/main/private-redis-cluster.ts. */
export {
  countKeysOnNode,
  type PrivateRedisCluster as TestCluster,
  privateRedisCluster as startTestCluster,
} from '../../src/main/private-redis-cluster.js';
