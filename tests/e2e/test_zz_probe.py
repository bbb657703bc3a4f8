import time
from collections import Counter
def test_probe(server):
    k = server.apikey
    c = Counter()
    for i in range(200):
        for q in ["a=1", "a=>", "a=>=", "a=<", 'a="', "a=%3E"]:
            r = server.raw("GET", f"/api/v1/groups?apikey={k}&{q}")
            c[(q, r.status)] += 1
    print(c)
