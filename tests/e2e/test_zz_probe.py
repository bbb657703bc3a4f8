def test_probe(server):
    k = server.apikey
    for q in ["a=1", "a[0]=1", "a=>", "a=<", "a==", "a=%3E", "a=>=", "a={", "a=|", "a=^", "a=`", 'a="', "a=\\"]:
        r = server.raw("GET", f"/api/v1/groups?apikey={k}&{q}")
        print(repr(q), r.status, r.body[:100])
