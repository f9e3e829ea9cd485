// Enishi: CloudFront Function for a distribution whose origin is the bucket's
// REST endpoint (private bucket, Origin Access Control). S3's REST API serves
// keys, not folders: `/2024/05/26/hello/` must be asked for as
// `/2024/05/26/hello/index.html`. Attach this function to the default cache
// behaviour as a *viewer request* function (runtime cloudfront-js-2.0).
//
// - `/dir/`   is served from `/dir/index.html` (rewritten before the cache, so
//             the cache key is the file `enishi deploy` invalidates);
// - `/dir`    (an old URL without the slash, e.g. Hatena's /entry/2020/01/01/123456)
//             is answered with a permanent redirect (301) to `/dir/`, query string
//             kept (the S3 website endpoint answers such a URL with a 302);
// - anything whose last segment has a dot (`/feed.xml`, `/_img/a.webp`) is
//             passed through unchanged.
function handler(event) {
    var request = event.request;
    var uri = request.uri;
    if (uri.endsWith('/')) {
        request.uri = uri + 'index.html';
        return request;
    }
    var last = uri.substring(uri.lastIndexOf('/') + 1);
    if (last.indexOf('.') !== -1) {
        return request;
    }
    var query = [];
    var qs = request.querystring || {};
    for (var name in qs) {
        var entry = qs[name];
        var values = entry.multiValue ? entry.multiValue : [entry];
        for (var i = 0; i < values.length; i++) {
            query.push(values[i].value === '' ? name : name + '=' + values[i].value);
        }
    }
    return {
        statusCode: 301,
        statusDescription: 'Moved Permanently',
        headers: {
            location: { value: uri + '/' + (query.length ? '?' + query.join('&') : '') },
            'cache-control': { value: 'public, max-age=3600' }
        }
    };
}
