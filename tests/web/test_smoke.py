def test_pages_render(as_role, add_deputy):
    client, _ = as_role("admin")
    add_deputy("张三", "13800138000", levels=["national", "county"], tags="乡镇, 妇女代表")
    for path in ("/", "/deputies/", "/deputies/new/", "/deputies/edit/?id=1", "/roster/import/", "/users/", "/users/new/",
                 "/tokens/", "/tokens/issue/", "/audit/", "/deputies/download/xlsx/", "/deputies/download/csv/?search=张", "/roster/import/template/csv/"):
        r = client.get(path)
        print(path, r.status_code)
        assert r.status_code == 200, r.get_data(as_text=True)[-3000:]
