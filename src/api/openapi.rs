pub fn routes(r: axum::Router<super::AppState>) -> axum::Router<super::AppState> {
    r
}
