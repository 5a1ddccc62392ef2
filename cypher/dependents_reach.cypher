// dependents reach: a transitive dependents() walk in one query: from each intent given,
// every intent on a DEPENDS_ON chain into it, and for each of those the intents that wait
// for it (DEPENDS_ON into it, BLOCKS out of it). intentgraph takes the distances from these
// edges, and asks again from the intents it reached only through BLOCKS. The BLOCKS
// half runs only in a graph that has had a BLOCKS edge (a type the server lists stays
// listed after its edges are gone): walking every chain again costs as much as the first
// half, also where no BLOCKS edge exists.
// Returns: one row per path and edge at its end: the path's last intent, an intent waiting for it,
// that intent's JSON, the edge's type (no row at all: the intents given have no such edges,
// or do not exist).
// Parameters: $ids, $paths (each walk stops after this many paths: the server lists every
// path, also those it finds no row on, and a graph with very many paths between the same
// intents is read layer by layer instead).
:param ids => ['demo']; :param paths => 2000;
UNWIND $ids AS id
MATCH (:Intent {id: id})<-[:DEPENDS_ON*0..]-(i:Intent)<-[e:DEPENDS_ON]-(d:Intent)
WITH i, e, d LIMIT $paths
RETURN i.id AS id, d.id AS dependent, d.data AS data, type(e) AS type
UNION ALL
CALL db.relationshipTypes() YIELD relationshipType
WITH relationshipType WHERE relationshipType = 'BLOCKS'
UNWIND $ids AS id
MATCH (:Intent {id: id})<-[:DEPENDS_ON*0..]-(i:Intent)
WITH i LIMIT $paths
MATCH (i)-[e:BLOCKS]->(d:Intent)
RETURN i.id AS id, d.id AS dependent, d.data AS data, type(e) AS type
